"""Claims: notice, registration, assessment, the ledger, payments and closure."""
