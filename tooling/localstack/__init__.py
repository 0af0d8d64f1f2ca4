"""The local stack: real servers started as plain processes, no container engine needed."""
