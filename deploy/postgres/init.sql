-- One database per service: each keeps its own tables, outbox and Alembic history.
CREATE DATABASE audit;
CREATE DATABASE moderation;
CREATE DATABASE scheduler;
CREATE DATABASE notifications;
