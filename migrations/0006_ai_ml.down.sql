DROP TABLE IF EXISTS lead_scoring_models;
DROP TABLE IF EXISTS ai_training_data;
DROP TABLE IF EXISTS ai_conversations;
