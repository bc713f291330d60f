from fastapi import FastAPI
from flask import Flask
from jose import jwt

app = FastAPI()
legacy = Flask(__name__)


@app.get("/token")
def token():
    return {"token": jwt.encode({"sub": "me"}, "secret")}
