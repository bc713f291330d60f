from fastapi import FastAPI

from .model import Model

app = FastAPI()
