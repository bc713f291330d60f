import flask, psycopg2
print("ok", flask.__version__, psycopg2.__version__)
