print("txn")
