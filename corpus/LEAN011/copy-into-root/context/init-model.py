print("downloading model")
