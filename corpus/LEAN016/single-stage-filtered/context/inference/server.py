import json
from http.server import HTTPServer

from .model import Model


def main():
    HTTPServer(('', 8080), None)
