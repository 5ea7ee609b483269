"""The keys every test process runs with, so tests can sign cookies and encrypt like the desk."""

TEST_SECRET_KEY = "test-secret-key-not-for-production"
TEST_DATA_KEY = "VHFPDo82v9QNrXpqdlbcrDQ6cr3whJfA8ykMoBHkn5Y="  # a Fernet key, tests only
