"""LangChain tools the agent calls; thin over services, identity from `runtime.context`."""
