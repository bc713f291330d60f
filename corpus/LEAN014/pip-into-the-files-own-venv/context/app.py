import markupsafe
print("ok", markupsafe.escape("<a>"))
