"""Background job queues (Celery, RQ, arq, dramatiq) with one schema, hooked in-process.

Each module hooks one system the way it is meant to be extended (Celery signals, an RQ
worker class, arq function wrappers, a dramatiq middleware) and imports the system only
when used. ``schema`` holds the series they all write; ``depth`` polls queue depth from
Redis and RabbitMQ.
"""
