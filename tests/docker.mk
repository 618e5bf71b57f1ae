# tests for docker
