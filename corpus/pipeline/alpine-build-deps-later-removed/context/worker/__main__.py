import redis
import cffi

print(redis.__version__, cffi.__version__)
