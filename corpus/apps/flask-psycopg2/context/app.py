"""Tiny inventory service: Flask in front of PostgreSQL (psycopg2)."""
import os

import flask
import psycopg2
import psycopg2.extras
from flask import Flask, jsonify, render_template

app = Flask(__name__)
app.config["DATABASE_URL"] = os.environ.get(
    "DATABASE_URL", "postgresql://inventory:inventory@db:5432/inventory"
)


def get_conn():
    return psycopg2.connect(app.config["DATABASE_URL"], connect_timeout=3)


@app.route("/")
def index():
    return render_template("index.html", title="Inventory")


@app.route("/healthz")
def healthz():
    return jsonify(status="ok")


@app.route("/items")
def items():
    with get_conn() as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT id, name, qty FROM items ORDER BY id")
        return jsonify(cur.fetchall())


@app.route("/items/<int:item_id>")
def item(item_id):
    with get_conn() as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT id, name, qty FROM items WHERE id = %s", (item_id,))
        row = cur.fetchone()
    return (jsonify(row), 200) if row else (jsonify(error="not found"), 404)


def selftest():
    """No database needed: check imports, the libpq link and the template."""
    with app.test_client() as client:
        page = client.get("/")
        health = client.get("/healthz").get_json()
    routes = sorted(str(r) for r in app.url_map.iter_rules() if r.endpoint != "static")
    return "\n".join([
        "flask %s" % flask.__version__,
        "psycopg2 %s" % psycopg2.__version__.split()[0],
        "libpq %d" % (psycopg2.__libpq_version__ // 10000),
        "routes %s" % " ".join(routes),
        "index %d %s" % (page.status_code, "Inventory" in page.get_data(as_text=True)),
        "health %s" % health["status"],
    ])


if __name__ == "__main__":
    print(selftest())
