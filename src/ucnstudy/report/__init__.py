"""The self-contained HTML study report."""
