import pickle

import numpy as np
from flask import Flask, jsonify, request

app = Flask(__name__)
with open("model.pkl", "rb") as f:
    model = pickle.load(f)


@app.post("/predict")
def predict():
    return jsonify(model.predict(np.array([request.json["x"]])).tolist())


if __name__ == "__main__":
    app.run()
