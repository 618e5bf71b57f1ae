# tests for agent
