import flask
import numpy as np
from sklearn.linear_model import LogisticRegression

app = flask.Flask(__name__)


@app.get('/predict')
def predict():
    return {'ok': bool(np.ones(1)[0])}


if __name__ == '__main__':
    app.run(host='0.0.0.0', port=8080)
