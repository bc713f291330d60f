import importlib
import os

from flask import Flask

app = Flask(__name__)
# the HTTP client is chosen at deploy time: HTTP_CLIENT=requests
client = importlib.import_module(os.environ.get("HTTP_CLIENT", "urllib.request"))

if __name__ == "__main__":
    app.run()
