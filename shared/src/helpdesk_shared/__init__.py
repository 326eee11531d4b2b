"""The service desk's common library.

Everything two services would otherwise write twice lives here once: the event catalogue, the
append-only event store, the relay to RabbitMQ, the consumer toolkit, auth and HTTP plumbing.
"""
