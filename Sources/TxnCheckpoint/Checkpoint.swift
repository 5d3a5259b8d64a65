// Checkpoint reader: see the checkpoint helper.
