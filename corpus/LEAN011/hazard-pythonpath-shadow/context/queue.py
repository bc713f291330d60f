# the project's own job queue helpers
QUEUES = ["default"]
