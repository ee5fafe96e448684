"""Scenarios in virtual time: people, devices, schedules and touches, with ground truth."""
