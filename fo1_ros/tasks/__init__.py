"""FO1 capabilities, one module each: prompt builder + total output parser + typed result.

Every task has `questions(ctx) -> list[Question]` and `parse(answers, ctx) -> result`, where
`ctx` is the frame's `RegionContext` (the proposal boxes and scores the model saw).
"""

from .caption import CaptionTask, RegionText
from .common import Answer, Question, RegionContext
from .count import CountResult, CountTask
from .detect import Detections, DetectTask, VisualPromptTask
from .grounding import GroundingResult, GroundingTask, LabelAllTask
from .ocr import OCRTask
from .reasoning import ReasoningResult, ReasoningTask
from .vqa import VQATask

TASK_TYPES = (DetectTask, VisualPromptTask, CaptionTask, OCRTask, VQATask, CountTask, ReasoningTask, GroundingTask,
              LabelAllTask)

__all__ = ["Answer", "CaptionTask", "CountResult", "CountTask", "DetectTask", "Detections", "GroundingResult",
           "GroundingTask", "LabelAllTask", "OCRTask", "Question", "ReasoningResult", "ReasoningTask", "RegionContext",
           "RegionText", "TASK_TYPES", "VQATask", "VisualPromptTask"]
