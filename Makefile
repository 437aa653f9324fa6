# Entry points. Each script sets up what it needs on a fresh machine.
.PHONY: sandbox test teardown

sandbox:  ## Bring the local sandbox up (AWS emulator + an instance container) and serve the blog
	scripts/sandbox.sh

test:  ## Run the whole test suite
	scripts/test.sh

teardown:  ## Remove everything the sandbox created
	scripts/sandbox.sh playbooks/teardown.yml
