import fastapi
