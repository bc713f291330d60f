"""leanify: refactor Dockerfiles into small, cache-friendly, multi-stage builds."""

from .errors import DockerfileError, LeanifyError
from .model import Dockerfile, Instruction, Stage

__version__ = "0.1.0"
__all__ = ["Dockerfile", "Instruction", "Stage", "DockerfileError", "LeanifyError", "__version__"]
