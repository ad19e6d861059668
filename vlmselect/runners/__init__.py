"""Runners that load and run models: Ollama (official client) and transformers (Hugging Face)."""
