"""The ledger: SQL tables that are the record of every order, package, stock level and
cursor. Celery messages only say "look at this now"; the rows are the truth."""
