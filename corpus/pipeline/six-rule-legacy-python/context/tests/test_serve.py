from src.serve import app


def test_predict():
    assert app.test_client().get('/predict').json == {'ok': True}
