"""What each command does, below the command line: a run of one warehouse, a network's runs, a rollback.

Plain functions that return what happened (a run's summary, a network's outcomes) and say their progress through a
callback, so that the command line, a Dagster op, a test or another program can call them; the command line only
parses its arguments and prints what they return."""
