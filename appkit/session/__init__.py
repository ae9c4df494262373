"""This session: its current run and snapshot (`current`), who is at this browser (`owner`), the view in the address
(`links`)."""
