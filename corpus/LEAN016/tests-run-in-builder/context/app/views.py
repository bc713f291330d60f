import yaml
from flask import jsonify

from . import app


@app.get('/healthz')
def health():
    return jsonify(ok=True)
