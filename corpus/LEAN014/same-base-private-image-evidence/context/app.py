import flask
import psycopg2

print("ok", flask.__name__, psycopg2.__version__)
