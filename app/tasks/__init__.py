"""What a hotel acts on: message classification, staff tasks, safety hand-overs, notifications
to staff, and the record of knowledge gaps and guest feedback."""
