from sqlalchemy import create_engine, text

engine = create_engine("postgresql+psycopg2://app@db/app")
with engine.connect() as conn:
    print(conn.execute(text("select 1")).scalar())
