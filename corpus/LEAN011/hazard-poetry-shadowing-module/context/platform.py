"""What the service reports about the machine it runs on."""
import os


def python_version() -> str:
    return os.environ.get("APP_PYTHON", "3.11")
