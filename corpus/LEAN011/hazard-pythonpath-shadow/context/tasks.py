from queue import QUEUES
