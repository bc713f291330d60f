import lightgbm
print("ok")
