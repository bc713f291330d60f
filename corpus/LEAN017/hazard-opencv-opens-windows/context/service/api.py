from fastapi import FastAPI

from .vision import detect

app = FastAPI()
