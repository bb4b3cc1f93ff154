"""engine.exceptions.Message: the engine's English sentence, that also remembers what the web layer translates."""
from __future__ import annotations

import copy
import json
import pickle

from engine.exceptions import DeploymentRejected, Message, Problem
from engine.deploy.validation import validate_files


def test_a_message_is_its_english_text_everywhere_a_str_goes():
    said = Message("{what} does not compile: {error}", what=Message("condition of the flow to {target}", target="b"),
                   error="invalid syntax {")
    assert said == "condition of the flow to b does not compile: invalid syntax {" and isinstance(said, str)
    assert f"- {said}" == "- condition of the flow to b does not compile: invalid syntax {"
    assert json.dumps({"message": said}) == json.dumps({"message": str(said)})
    assert said.template == "{what} does not compile: {error}" and said.params["what"].params == {"target": "b"}
    assert Problem("a.bpmn", "text") == Problem("a.bpmn", Message("text"))
    assert hash(Problem("a.bpmn", "text")) == hash(Problem("a.bpmn", Message("text")))


def test_a_message_survives_pickling_and_copying_with_its_template():
    said = Message("form layout must be a JSON object, e.g. {example}", example='{"ui:order": ["a", "*"]}')
    for again in (pickle.loads(pickle.dumps(said)), copy.deepcopy(said)):
        assert again == said and again.template == said.template and again.params == said.params


def test_a_joined_message_keeps_each_part_and_its_separator():
    joined = Message.join(", {} ", ["a", Message("b {x}", x=1)])
    assert joined == "a, {} b 1" and joined.params["_1"].template == "b {x}"
    assert Message.join("\n", []) == ""


def test_a_refused_deployment_says_in_english_what_it_said_before():
    try:
        validate_files({"notes.txt": b"x"})
    except DeploymentRejected as rejected:
        assert rejected.message == ("deployment refused, 2 problem(s):\n"
                                    "  - (deployment): no .bpmn file in the deployment\n"
                                    "  - notes.txt: unsupported file type (expected .bpmn, .dmn or .json)")
        assert str(rejected.problems[0]) == "(deployment): no .bpmn file in the deployment"
        assert isinstance(rejected.details[1]["message"], Message)
    else:
        raise AssertionError("a set without a diagram deployed")
