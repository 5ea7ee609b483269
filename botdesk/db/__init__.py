"""The contract between engine and desk: tables, session factory, migrations, queries."""
