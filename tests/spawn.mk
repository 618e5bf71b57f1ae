# tests for spawn
