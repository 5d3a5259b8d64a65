// The txn notebook language.
