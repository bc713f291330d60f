import fastapi
import tokenizers
import uvicorn

app = fastapi.FastAPI()
uvicorn.run(app)
