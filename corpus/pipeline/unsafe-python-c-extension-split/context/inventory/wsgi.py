import flask
import psycopg2

app = flask.Flask(__name__)
