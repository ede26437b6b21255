DROP INDEX activities_actor_kind;
DROP TABLE person_follows;
