"""Cold path: load hotel documents, chunk them, embed them and write them to the index."""
