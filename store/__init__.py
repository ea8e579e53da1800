"""The engines: TinyDB for the public draw history (`store.draws`, one file per host) and SQL for the
private, transactional state (`store.sql`: SQLite by default, PostgreSQL across machines).

The store knows nothing of the domain: it opens engines, runs the schema migrations, and hands
out transactions; each stage defines and reads its own tables through its own module.
"""
