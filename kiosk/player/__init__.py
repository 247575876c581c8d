"""The player: turns the schedule into what each face shows, on one long-running
mpv per display output, and records what it actually showed (proof of play,
face_state, screenshots). See kiosk/player/loop.py for the controller.
"""
