"""Uploads go straight to a bucket."""
from flask import Flask, request
from google.cloud import storage

app = Flask(__name__)
bucket = storage.Client().bucket("uploads")


@app.post("/upload")
def upload():
    bucket.blob(request.args["name"]).upload_from_file(request.files["file"])
    return "", 204
